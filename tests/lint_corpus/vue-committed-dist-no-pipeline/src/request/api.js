import request from './request'

export const GetArticleListApi = (params) => request.get('/my-blog/interface/article/getArticleList', { params })
