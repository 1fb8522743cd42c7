(function(){var n=axios.create({baseURL:"http://localhost:8000/",timeout:4e3});window.blogApi=function(p){return n.get("/my-blog/interface/article/getArticleList",{params:p})}})();
