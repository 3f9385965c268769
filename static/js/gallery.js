// The videos gallery: a poster plays its video on hover (desktop) or on tap (phones). Without this file the
// posters are plain links to each video's page.
(function () {
  "use strict";
  var touch = window.matchMedia("(hover: none)").matches;

  function player(link) {
    var video = link.querySelector("video");
    if (!video) {
      video = document.createElement("video");
      video.muted = true;
      video.loop = true;
      video.playsInline = true;
      video.setAttribute("playsinline", "");
      video.preload = "auto";
      video.className = "poster-video";
      var image = link.querySelector("img");
      if (image) video.poster = image.currentSrc || image.src;
      video.src = link.dataset.video;
      link.appendChild(video);
    }
    return video;
  }

  function start(link) {
    var video = player(link);
    link.classList.add("playing");
    var played = video.play();
    if (played && played.catch) played.catch(function () { link.classList.remove("playing"); });
  }

  function stop(link) {
    var video = link.querySelector("video");
    link.classList.remove("playing");
    if (video) { video.pause(); video.remove(); }
  }

  function posterOf(event) {
    var target = event.target;
    return target && target.closest ? target.closest("a.poster[data-video]") : null;
  }

  if (!touch) {
    document.addEventListener("mouseover", function (event) {
      var link = posterOf(event);
      if (link && !link.classList.contains("playing")) start(link);
    });
    document.addEventListener("mouseout", function (event) {
      var link = posterOf(event);
      if (link && !link.contains(event.relatedTarget)) stop(link);
    });
  } else {
    // A tap plays (or pauses) in place; the title below the poster opens the video's page.
    document.addEventListener("click", function (event) {
      var link = posterOf(event);
      if (!link) return;
      event.preventDefault();
      if (link.classList.contains("playing")) stop(link); else start(link);
    });
  }
})();
